"""Score plugins: each maps an identifier to 0 (worst) .. 100 (best) for one concern.

The pipeline combines them as a weighted mean, with the weights of the task (or its pool), over
the plugins that apply to the task: a task without a data location is not scored on locality.
"""

from computenet.placement.framework import Score
from computenet.placement.scores.fit import Fit
from computenet.placement.scores.locality import Locality
from computenet.placement.scores.node_preference import NodePreference
from computenet.placement.scores.preference import Preference
from computenet.placement.scores.price import Price
from computenet.placement.scores.reliability import Reliability

DEFAULT_SCORES: tuple[Score, ...] = (Fit(), Price(), Locality(), Reliability(), Preference(), NodePreference())

__all__ = ["DEFAULT_SCORES", "Fit", "Locality", "NodePreference", "Preference", "Price", "Reliability"]
