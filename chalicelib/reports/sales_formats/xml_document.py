"""XML: ``<salesReport>`` with its lines, VAT rates, payments and totals as attributes."""

from __future__ import annotations

from xml.etree import ElementTree

from chalicelib.reports.rendering import printable
from chalicelib.reports.sales import SalesReport
from chalicelib.reports.sales_formats.base import SalesFormat, m, totals


def render_xml(report: SalesReport) -> str:
    root = ElementTree.Element("salesReport", shopId=report.shop_id, shop=report.shop_name, day=report.day,
                               timezone=report.timezone, currency=report.currency)
    lines = ElementTree.SubElement(root, "lines")
    for l in report.lines:
        ElementTree.SubElement(lines, "line", orderId=l.order_id, time=l.time, refund=str(l.is_refund).lower(),
                               name=l.name, quantity=l.quantity, unitPrice=m(l.unit_price), vatRate=l.vat_rate,
                               discount=m(l.discount), amount=m(l.amount))
    vats = ElementTree.SubElement(root, "vats")
    for v in report.vats:
        ElementTree.SubElement(vats, "vat", rate=v.rate, gross=m(v.gross), net=m(v.net), vat=m(v.vat))
    payments = ElementTree.SubElement(root, "payments")
    for p in report.payments:
        ElementTree.SubElement(payments, "payment", methodId=p.method_id, name=p.name, type=p.type,
                               count=str(p.count), amount=m(p.amount))
    ElementTree.SubElement(root, "totals", {name: value for name, value in totals(report)})
    for element in root.iter():
        element.attrib.update({name: printable(value) for name, value in element.attrib.items()})
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True)


FORMAT = SalesFormat("xml", "application/xml", render_xml)
