"""Analysis: normalisation, segmentation, the classifier and watch plans."""
