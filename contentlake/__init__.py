"""contentlake: lakehouse jobs for a video platform catalogue and viewer behaviour."""
