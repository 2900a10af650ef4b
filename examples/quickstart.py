"""The README's quick start: print every change of the demo database until the first delete.

Run `make demo ARGS=--keep` (or `pgoutput-decoder demo --keep`), export the DATABASE_URL it
prints, then `python examples/quickstart.py`.
"""

import asyncio
import os

import pgoutput_decoder


async def main() -> None:
    reader = pgoutput_decoder.LogicalReplicationReader(
        publication_name="demo_pub",
        slot_name="quickstart_slot",
        dsn=os.environ.get("DATABASE_URL", "postgresql://postgres@localhost:5432/shop"),
        create_slot=True,
    )
    async with reader:
        async for message in reader:
            if message.op is None:  # BEGIN/END, only with provide_transaction_metadata=True
                continue
            operation = pgoutput_decoder.format_operation(message.op)
            print(operation, pgoutput_decoder.get_table_name(message), message.key)
            print(message.after or message.before)
            if message.op == "d":  # keep the example short: stop after the first delete,
                await reader.acknowledge()  # confirmed, so that the next run starts after it
                break


asyncio.run(main())
