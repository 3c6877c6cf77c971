"""Prints, as JSON, what the installed Harbor offers: its agent names and environment types, read
from its own enums (so the dashboard's choices follow the installed version); `null` when Harbor
is not installed.

usage: python catalog.py
"""

import json
import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def main() -> None:
    try:
        from harbor.models.agent.name import AgentName
        from harbor.models.environment_type import EnvironmentType
    except ImportError:
        print(json.dumps(None))
        return
    offer = {
        "agents": [a.value for a in AgentName],
        "environments": [e.value for e in EnvironmentType],
    }
    print(json.dumps(offer))


if __name__ == "__main__":
    main()
