"""ZVT card terminals (PAX, Ingenico) over TCP: the German ECR interface, PA00P015 "ECR-Interface ZVT-Protocol".

Sources, cited per rule as "spec §x" (revision 13.06 chapter numbers, from its table of contents) and the
readings we learnt the bytes from: Portalum/Portalum.Zvt (C#, built on rev. 13.09: ZvtClient.cs,
Parsers/BmpParser.cs, Helpers/ApduHelper.cs, UnitTest/*) and kaplanerkan/kotlin-zvt-library (rev. 13.13:
protocol/ZvtConstants.kt, ZvtCommandBuilder.kt). Modules: ``apdu`` (framing), ``bmp`` (fields and BCD),
``commands`` (the ECR's requests), ``link`` (TCP), ``dialogue`` (one command's exchange), ``ledger`` (what
this edge sent, for the look-up after a crash), ``terminal`` (the ``PosTerminal``).
"""
