"""3D scenes, side-by-side comparison and reports for leaders."""
