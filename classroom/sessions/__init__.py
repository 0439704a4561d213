"""Sessions: the control plane of a running class (hands, room modes, follow-me) and its analytics, at the edge."""
