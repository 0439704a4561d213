"""The instructor console's server side: the class channel (``WS /api/classes/{id}/events``, :mod:`.routes`),
what each page may see (:mod:`.viewer`), its snapshot (:mod:`.snapshot`), the live grid's tiles (:mod:`.tiles`),
presence across replicas (:mod:`.online`) and the component tying them together (:mod:`.service`, whose
:func:`~classroom.console.service.install` the app calls).
"""
