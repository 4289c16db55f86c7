"""ipywidgets for the notebooks, one module per interactive figure."""
