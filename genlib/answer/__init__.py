"""The rules an answer must pass before it touches a workspace: the app it would produce (rules),
dependency files, file syntax, and how a patch applies. Pure: no Docker, no model."""
