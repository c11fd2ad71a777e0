"""Every model, imported once so the metadata is complete (migrations, tests)."""

from __future__ import annotations

from community import models as community  # noqa: F401
from core import consent_models as consents  # noqa: F401
from core.accounts import models as accounts  # noqa: F401
from core.db import Base
from passport import models as passport  # noqa: F401
from passport import reward_models as rewards  # noqa: F401
from series import models as series  # noqa: F401
from series.clues import models as clues  # noqa: F401
from series.episodes import hotspot_models as hotspots  # noqa: F401
from series.episodes import models as episodes  # noqa: F401
from series.votes import models as votes  # noqa: F401

metadata = Base.metadata
