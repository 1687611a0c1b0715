select
    (data ->> 'id')::bigint as payment_id,
    (data ->> 'order_id')::bigint as order_id,
    data ->> 'payment_method' as payment_method,
    -- amount is in cents; numeric division keeps every cent (integer division would drop them)
    ((data ->> 'amount')::numeric / 100)::numeric(12, 2) as amount
from raw_payments
