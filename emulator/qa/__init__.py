"""What QA runs against a room: the swarm (many headsets, worst pair reported), the synthetic probe
and its Prometheus metrics, the remote-control API, run verdicts, voice scores, report schema checks,
and join's record/replay/network tools.
"""
