select
    (data ->> 'id')::bigint as customer_id,
    data ->> 'first_name' as first_name,
    data ->> 'last_name' as last_name
from raw_customers
