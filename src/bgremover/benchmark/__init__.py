"""``bgremover bench``: speed and memory of our presets, and of rembg measured in the same run."""
