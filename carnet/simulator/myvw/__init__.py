"""The myVW app generation of the API, beside the Car-Net app's on the same API host.

Facts and their sources are in the project's ``myvw-api.md``. In short: the garage
(``/account/v1/garage``) lists the vehicles by vehicleId UUID; the privileges are per
vehicle; an S-PIN challenge (single use, ``spinHash`` = hex SHA-512 of
``challenge + "." + spin``) opens a session that gives a ``carnetVehicleToken`` (a JWT
with ``exp``), the bearer of every command; reads take the access token (some the
vehicle token too); commands answer ``{"data": {"result": 0, "correlationId": …}}`` and
their outcome is read by correlation id. Errors are
``{"error": {"errorCode": …, "errorDescription": …}}``.
"""
