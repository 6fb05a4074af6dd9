"""Trimmed clips (intensity, clip recognition): the clip type, coding sheets, synthetic clips, the TF input
pipeline, and region motion of a clip."""
