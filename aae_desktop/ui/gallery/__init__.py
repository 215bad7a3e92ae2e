"""The gallery panel: index as a Qt model, thumbnails, settings restore, PNG drop."""
