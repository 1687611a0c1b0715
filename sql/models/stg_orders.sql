select
    (data ->> 'id')::bigint as order_id,
    (data ->> 'user_id')::bigint as customer_id,
    (data ->> 'order_date')::date as order_date,
    data ->> 'status' as status
from raw_orders
