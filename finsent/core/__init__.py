"""finsent's ground floor: errors, settings, durations and the message contracts.

Every other package of finsent stands on this one; it imports nothing else of ours (a test
checks it), so importing it is cheap and never drags in torch, Faust or SQLAlchemy.
"""
