select
    {{ column }} as unique_field,
    count(*) as n_records
from {{ model }}
where {{ column }} is not null
group by {{ column }}
having count(*) > 1
