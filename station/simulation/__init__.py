"""The station-day simulator (检测站一日仿真): the station's real services under a simulated
clock, to measure the queue policy against first-come-first-served and to answer managers'
what-if questions (``station simulate``)."""
