"""The Car-Net app API generation."""
