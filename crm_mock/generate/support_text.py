"""What support tickets say: per category, subjects with the description that goes with each, naming the
order, invoice or product the ticket is about, and how long such a ticket takes to work through.

Curated: a help desk's wording is specific to its trade and reads wrong when faked.
"""

from __future__ import annotations

# {order}, {invoice}, {product}, {date}, {name} are filled from the ticket's references and contact
_LATE = "Hello, our order {order} from {date} has not arrived yet. Could you tell us when to expect it? Regards, {name}"
_MISSING = "Hi, order {order} arrived with some items missing. Please check and send the rest. Thanks, {name}"
_DATE = "Good morning, could you confirm the delivery date of order {order}? Our site needs it this week. {name}"
_WRONG_PLACE = "Hello, the carrier left order {order} at the wrong entrance. Please arrange a redelivery. Best, {name}"
_QUOTE = "Hello, invoice {invoice} shows a different total from the quote we accepted. Could you check? {name}"
_COPY = "Hi, please send a copy of invoice {invoice} to our accounts payable mailbox. Thank you, {name}"
_PAID = "Dear team, we paid invoice {invoice} but received a reminder. Please confirm you have the payment. {name}"
_VAT = "Hello, invoice {invoice} carries our old VAT number. Please issue a corrected invoice. Regards, {name}"
_BROKEN = "Hello, the {product} from order {order} stopped working after a week. Please advise. {name}"
_DAMAGED = "Hi, one {product} in order {order} arrived damaged. Photos attached. Regards, {name}"
_PARTS = "Good afternoon, we are missing parts for the {product} (order {order}). Can you send them? {name}"
_RETURN = "Hello, we would like to return the {product} from order {order}; it is not what we ordered. {name}"
_LABEL = "Hi, please send a return label for the {product} on order {order}. Thanks, {name}"
_ADDRESS = "Hello, please update our address; the new one is in the attached letter. Regards, {name}"
_LOGIN = "Hi, I cannot log in to the portal since yesterday. Could you reset my access? {name}"
_USERS = "Hello, please add our new buyer to the portal account and remove the old one. Thanks, {name}"
_DETAILS = "Hello, our company details have changed; the registry extract is attached. Please update them. {name}"
_DOWNLOAD = "Hello, how can we download all our invoices from the portal at once? Regards, {name}"
_PRICES = "Hi, we plan a large order next quarter. What lead times and prices can you offer? {name}"
_PAPERS = "Hello, could you send the certificates and data sheets for the products we buy? Thanks, {name}"
_VISIT = "Hello, we would like to book the yearly maintenance visit for next month. Which dates suit you? {name}"
_TECHNICIAN = "Hi, can you send a technician to our site? One of our machines needs an inspection. Regards, {name}"
_TRAINING = "Hello, we need operator training for two new colleagues. Please propose a date. {name}"

# category: (share, what it refers to, (subject, description) pairs, median hours from first answer to
# resolution: days for most, weeks for returns and site visits, which wait on goods, parts and appointments)
CATEGORIES = {
    "DELIVERY": (22, "order", (
        ("Order {order} not yet delivered", _LATE), ("Where is order {order}?", _LATE),
        ("Partial delivery of order {order}", _MISSING), ("Missing items in order {order}", _MISSING),
        ("Delivery date for order {order}", _DATE), ("Can we bring order {order} forward?", _DATE),
        ("Tracking number for order {order}", _LATE), ("Order {order} delivered to the wrong address", _WRONG_PLACE),
        ("Order {order} left at the wrong entrance", _WRONG_PLACE),
    ), 144),
    "BILLING": (18, "invoice", (
        ("Question about invoice {invoice}", _QUOTE), ("Invoice {invoice} does not match the quote", _QUOTE),
        ("Please resend invoice {invoice}", _COPY), ("Copy of invoice {invoice} for our auditors", _COPY),
        ("Invoice {invoice}: wrong VAT number", _VAT), ("Corrected invoice needed: {invoice}", _VAT),
        ("Reminder received for paid invoice {invoice}", _PAID), ("Payment of invoice {invoice}", _PAID),
    ), 240),
    "PRODUCT_ISSUE": (16, "product", (
        ("{product} stopped working", _BROKEN), ("Fault on {product}", _BROKEN), ("Error code on {product}", _BROKEN),
        ("{product} damaged on arrival", _DAMAGED), ("{product}: broken in transit", _DAMAGED),
        ("{product}: parts missing", _PARTS), ("Spare parts for {product}", _PARTS),
    ), 384),
    "RETURN": (8, "product", (
        ("Return request: {product}", _RETURN), ("Wrong item shipped: {product}", _RETURN),
        ("RMA for {product} on order {order}", _LABEL), ("Return label for order {order}", _LABEL),
    ), 640),
    "ACCOUNT": (14, None, (
        ("Change of billing address", _ADDRESS), ("Update our delivery address", _ADDRESS),
        ("Cannot log in to the customer portal", _LOGIN), ("Password reset not received", _LOGIN),
        ("Two-factor authentication problem", _LOGIN), ("Add a user to our portal account", _USERS),
        ("Close a user account", _USERS), ("New contact for invoices", _USERS),
        ("Change of company name", _DETAILS), ("Update our VAT number", _DETAILS),
    ), 80),
    "HOW_TO": (12, None, (
        ("How do I download invoices from the portal?", _DOWNLOAD), ("How do I track an order?", _DOWNLOAD),
        ("Bulk order pricing", _PRICES), ("Lead times for large orders", _PRICES), ("Price list for next year", _PRICES),
        ("Minimum order quantity", _PRICES), ("Product certificates", _PAPERS), ("Safety data sheets", _PAPERS),
    ), 64),
    "SERVICE_REQUEST": (10, None, (
        ("Book a maintenance visit", _VISIT), ("Extend our maintenance plan", _VISIT),
        ("Reschedule a service visit", _VISIT), ("Technician visit needed", _TECHNICIAN),
        ("Calibration certificate request", _TECHNICIAN), ("Request for on-site training", _TRAINING),
        ("Installation appointment", _TECHNICIAN),
    ), 480),
}
