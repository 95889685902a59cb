"""The running app: the Docker engine and Compose CLI, health, images, migrations, ports,
the offline base image, pruning; engine is also the Docker client deploy/ uses."""
