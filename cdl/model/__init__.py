"""The model: dictionary layouts, objective, gradients, sufficient statistics,
occurrences of atoms and the comparison of atoms."""
