"""Long videos (spotting): the video type, coding workbooks, synthetic long videos, the face box and flow of
a recording, and the windowed pipeline (no TensorFlow)."""
