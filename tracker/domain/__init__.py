"""The pure rules engine of tracker: the standard library only, no clock, no database.

`facts` holds what the engine decides on, `policy` the rule sets as data, `rules` the decisions
(`evaluate`, `evaluate_dispense`, `fold_for_pharmacy`), `reasons` the reason codes. The other
modules check entries: `comprehension`, `contraception`, `validation`; `programdate` turns an
instant into a program date.
"""
