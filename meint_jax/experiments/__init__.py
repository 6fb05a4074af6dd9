"""Commands that run several trainings and put their results side by side."""
