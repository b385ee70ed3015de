"""Principal components with the outlier map: classical (:class:`PCA`, rrcov
``PcaClassic``) and robust (:class:`ROBPCA`, Hubert, Rousseeuw & Vanden Branden 2005, rrcov
``PcaHubert``).

Both give score distances (the Mahalanobis distance within the k-dimensional PCA subspace),
orthogonal distances (to that subspace), their cutoffs and the four-way classification of
the outlier map (regular, good leverage, orthogonal outlier, bad leverage); both work for
p > n. :func:`mahalanobis.plot.outlier_map` draws the map.
"""

from ._common import CATEGORIES, PCAResult
from .classical import PCA
from .robpca import ROBPCA

__all__ = ["CATEGORIES", "PCA", "ROBPCA", "PCAResult"]
