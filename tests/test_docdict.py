"""Shared parameter docs: filled with the right indentation, complete."""
import inspect
import re

import pytest

import cdl
from cdl.utils.docs import docdict, fill_doc


def test_fill_doc_indents_entries_as_the_placeholder():
    def f(reg):
        """Do it.

        Parameters
        ----------
        %(reg)s
        """
    fill_doc(f)
    lines = f.__doc__.splitlines()
    i = lines.index("        reg : float")
    assert lines[i + 1].startswith("            Regularisation")
    assert "%(" not in f.__doc__


def test_unknown_placeholder_is_an_error():
    def f():
        """%(no_such_entry)s"""
    with pytest.raises(KeyError, match="no_such_entry"):
        fill_doc(f)


@pytest.mark.parametrize("cls", [cdl.BatchCDL, cdl.OnlineCDL, cdl.GreedyCDL,
                                 cdl.DiCoDiLe])
def test_estimator_docstrings_document_every_parameter(cls):
    documented = re.findall(r"^    (\w+) : ", cls.__doc__, flags=re.MULTILINE)
    params = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    assert documented[:len(params)] == params  # all of them, in order
    assert "%(" not in cls.__doc__


def test_entries_start_with_a_name_and_a_type():
    for name, entry in docdict.items():
        first = entry.split("\n")[0]
        assert re.match(r"^\*{0,2}\w+( : \S.*)?$", first), (name, first)
