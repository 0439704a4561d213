"""Demo rooms as students use them: fork the demo's files into your own room (or the instructor forks for
everyone). Routes in :mod:`classroom.demos.routes`, the rules in :mod:`classroom.demos.service`."""
