"""Test-only plugins for congress-tf's local OpenStack control plane (no agents, no hypervisor)."""
