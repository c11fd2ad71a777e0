"""Socket.IO of polls: `join {"poll": id}` and `vote`."""

from __future__ import annotations
