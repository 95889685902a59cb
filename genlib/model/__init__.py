"""Talking to a model: the provider seam (base, one module per provider), asking until an
answer is valid, steps, continuation of cut answers, and the gen/heal prompts."""
