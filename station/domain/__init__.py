"""Pure domain rules of the inspection station (机动车检测站): no database, no Flask.

Each module holds one small piece of the station's vocabulary as plain functions and
immutable data — plate numbers (``plates``), vehicle identification numbers (``vin``), mobile
phone numbers (``phone``) and the masking of personal information on public screens
(``masking``). Import from the module itself; this package re-exports nothing.
"""
