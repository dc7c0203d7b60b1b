"""The entity catalog: attributes, commands, the state model and encodings."""
