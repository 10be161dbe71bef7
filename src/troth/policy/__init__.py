"""The policy as code: model, loader, taxonomy, checks and rendering."""

from troth.policy.loader import PolicyDocument, load_policy
from troth.policy.model import Policy

__all__ = ["Policy", "PolicyDocument", "load_policy"]
