"""What support tickets say: per category, subjects and descriptions that name the order, invoice or
product the ticket is about, and how long such a ticket takes to work through.

Curated: a help desk's wording is specific to its trade and reads wrong when faked.
"""

from __future__ import annotations

# category: (share, what it refers to, subjects, descriptions, median hours from first answer to resolution:
# days for most, weeks for returns and site visits, which wait on goods, parts and appointments)
# {order}, {invoice}, {product}, {date}, {name} are filled from the ticket's references and contact
CATEGORIES = {
    "DELIVERY": (22, "order", (
        "Order {order} not yet delivered", "Where is order {order}?", "Partial delivery of order {order}",
        "Delivery date for order {order}", "Order {order} delivered to the wrong address",
        "Tracking number for order {order}", "Can we bring order {order} forward?",
        "Missing items in order {order}", "Order {order} arrived without a delivery note",
    ), (
        "Hello, our order {order} from {date} has not arrived yet. Could you tell us when to expect it? Regards, {name}",
        "Hi, order {order} arrived with some items missing. Please check and send the rest. Thanks, {name}",
        "Good morning, could you confirm the delivery date of order {order}? Our site needs it this week. {name}",
        "Hello, the carrier left order {order} at the wrong entrance. Please arrange a redelivery. Best, {name}",
    ), 144),
    "BILLING": (18, "invoice", (
        "Question about invoice {invoice}", "Invoice {invoice} does not match the quote",
        "Please resend invoice {invoice}", "Credit note for invoice {invoice}", "Invoice {invoice}: wrong VAT number",
        "Payment reference for invoice {invoice}", "Invoice {invoice} charged twice", "Due date of invoice {invoice}",
        "Reminder received for paid invoice {invoice}",
    ), (
        "Hello, invoice {invoice} shows a different total from the quote we accepted. Could you check? {name}",
        "Hi, please send a copy of invoice {invoice} to our accounts payable mailbox. Thank you, {name}",
        "Dear team, we paid invoice {invoice} but received a reminder. Please confirm you have the payment. {name}",
        "Hello, invoice {invoice} carries our old VAT number. Please issue a corrected invoice. Regards, {name}",
    ), 240),
    "PRODUCT_ISSUE": (16, "product", (
        "{product} stopped working", "Fault on {product}", "{product}: parts missing",
        "{product} damaged on arrival", "Error code on {product}", "{product} not as described",
        "Noise from {product}", "Spare parts for {product}",
    ), (
        "Hello, the {product} from order {order} stopped working after a week. Please advise. {name}",
        "Hi, one {product} in order {order} arrived damaged. Photos attached. Regards, {name}",
        "Good afternoon, we are missing parts for the {product} (order {order}). Can you send them? {name}",
    ), 384),
    "RETURN": (8, "product", (
        "Return request: {product}", "RMA for {product} on order {order}", "Wrong item shipped: {product}",
        "Return label for order {order}", "Refund for returned {product}",
    ), (
        "Hello, we would like to return the {product} from order {order}; it is not what we ordered. {name}",
        "Hi, please send a return label for the {product} on order {order}. Thanks, {name}",
    ), 640),
    "ACCOUNT": (14, None, (
        "Change of billing address", "Add a user to our portal account", "Update our VAT number",
        "Cannot log in to the customer portal", "New contact for invoices", "Close a user account",
        "Password reset not received", "Change of company name", "Update our delivery address",
        "Two-factor authentication problem",
    ), (
        "Hello, please update our billing address; the new one is in the attached letter. Regards, {name}",
        "Hi, I cannot log in to the portal since yesterday. Could you reset my access? {name}",
        "Hello, please add our new buyer to the portal account and remove the old one. Thanks, {name}",
    ), 80),
    "HOW_TO": (12, None, (
        "How do I download invoices from the portal?", "Bulk order pricing", "Question about payment terms",
        "Lead times for large orders", "Can we order by EDI?", "Product certificates", "Price list for next year",
        "Safety data sheets", "How do I track an order?", "Minimum order quantity",
    ), (
        "Hello, how can we download all our invoices from the portal at once? Regards, {name}",
        "Hi, we plan a large order next quarter. What lead times and prices can you offer? {name}",
        "Hello, could you send the certificates and data sheets for the products we buy? Thanks, {name}",
    ), 64),
    "SERVICE_REQUEST": (10, None, (
        "Book a maintenance visit", "Request for on-site training", "Calibration certificate request",
        "Installation appointment", "Extend our maintenance plan", "Technician visit needed",
        "Quote for a service contract", "Reschedule a service visit",
    ), (
        "Hello, we would like to book the yearly maintenance visit for next month. Which dates suit you? {name}",
        "Hi, can you send a technician to our site? One of our machines needs an inspection. Regards, {name}",
        "Hello, we need operator training for two new colleagues. Please propose a date. {name}",
    ), 480),
}
