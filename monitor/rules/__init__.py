"""Watch rules: the query language, the compiled matcher, snippets."""

from monitor.rules.matcher import Rule, RuleSet, explain
from monitor.rules.query import QuerySyntaxError, parse_query

__all__ = ["QuerySyntaxError", "Rule", "RuleSet", "explain", "parse_query"]
