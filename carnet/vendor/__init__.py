"""The vendor layer: everything specific to Volkswagen's services."""
