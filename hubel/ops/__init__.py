"""Stateless differentiable functions, by family; `hubel.F` is their table of contents."""
