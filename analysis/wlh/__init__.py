"""`wlh`: trace any o1js program against any o1js build (issue 13).

    wlh run --o1js 2.15.0 --out base -- node prog.mjs     # record: trace log + samples + run record
    wlh report base                                        # read: Markdown, PNG, JSON
    wlh compare base cand                                  # two runs of one program side by side

Recording is Node (bench/wlh/, bench/instrument/, bench/tracer/); reading reuses the Step 3 parser
(analysis.parse) and figures (analysis.analyze). One module per subcommand in analysis.wlh.commands.
"""
