"""The running app: the Docker engine and Compose CLI, health, images, migrations, ports,
the offline base image, pruning. The only group that talks to Docker."""
