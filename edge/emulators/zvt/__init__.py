"""A ZVT payment terminal (PT) twin on TCP, written from PA00P015 "ECR-Interface ZVT-Protocol" as the
public readings give it (Portalum/Portalum.Zvt, kaplanerkan/kotlin-zvt-library), never from our driver:
``codec`` (APDUs, BCD, BMPs), ``memory`` (the PT's stored bookings and end-of-day records), ``session``
(one ECR connection), ``server`` (the TCP listener and the outcome script tests drive).
"""
