"""The app beyond this machine: release images (release), what a deployment runs (spec), Docker Swarm (swarm),
test.yaml against the swarm (verify), Kubernetes manifests (k8s), and what the doit tasks call (actions)."""
