with all_values as (
    select
        {{ column }} as value_field,
        count(*) as n_records
    from {{ model }}
    group by {{ column }}
)

select *
from all_values
where value_field not in ({{ values }})
