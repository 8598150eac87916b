"""
The batch wing: many renders at once, within the account's cap, crash-safe.

:mod:`.batch` holds :class:`~.batch.Batch` (lifecycle, resume, delivery);
:mod:`.admission` the slots, the AIMD limit and the :class:`~.admission.Submitter`
protocol a batch talks to the client through; :mod:`.handles` what a caller
holds while a job runs; :mod:`.outcomes` what a job ends as; :mod:`.journal`
how jobs are keyed and written down; :mod:`.stores` where they are written.
Nothing here imports the client: the client hands a batch a ``Submitter``.
"""

from .stores import set_aside


__all__ = ["set_aside"]
