/* PCI configuration space: registers and bits (PCI Local Bus 3.0 §6). */
#ifndef NIC_PCI_REG_H
#define NIC_PCI_REG_H

/* configuration mechanism #1 (port I/O) */
#define PCI_CONFIG_ADDRESS 0xcf8  /* 32-bit, write: enable | bus | dev | fn | reg */
#define PCI_CONFIG_DATA    0xcfc  /* 32-bit, read/write */
#define PCI_CONFIG_ENABLE  0x80000000u

/* type 0 header, offsets */
#define PCI_VENDOR_ID     0x00  /* 16, ro */
#define PCI_DEVICE_ID     0x02  /* 16, ro */
#define PCI_COMMAND       0x04  /* 16, rw */
#define PCI_STATUS        0x06  /* 16, rw1c */
#define PCI_CLASS_REV     0x08  /* 32, ro: class << 8 | revision */
#define PCI_HEADER_TYPE   0x0e  /* 8, ro: bit 7 multi-function */
#define PCI_BAR0          0x10  /* 32 x 6, rw */
#define PCI_SUBSYS_ID     0x2e  /* 16, ro */
#define PCI_CAP_PTR       0x34  /* 8, ro */
#define PCI_INTERRUPT_LINE 0x3c /* 8, rw */

#define PCI_COMMAND_IO       (1u << 0)
#define PCI_COMMAND_MEMORY   (1u << 1)
#define PCI_COMMAND_MASTER   (1u << 2)
#define PCI_COMMAND_INTX_OFF (1u << 10)
#define PCI_STATUS_CAP_LIST  (1u << 4)

#define PCI_BAR_IO        (1u << 0)
#define PCI_BAR_TYPE_64   (2u << 1)
#define PCI_BAR_TYPE_MASK (3u << 1)

/* capabilities */
#define PCI_CAP_ID_MSI    0x05
#define PCI_CAP_ID_VENDOR 0x09
#define PCI_CAP_ID_MSIX   0x11

/* MSI-X capability (§6.8.2) */
#define PCI_MSIX_CTRL      0x02  /* 16, rw */
#define PCI_MSIX_TABLE     0x04  /* 32, ro: offset | BIR */
#define PCI_MSIX_PBA       0x08  /* 32, ro: offset | BIR */
#define PCI_MSIX_CTRL_SIZE  0x07ffu  /* table size - 1 */
#define PCI_MSIX_CTRL_MASK  (1u << 14)
#define PCI_MSIX_CTRL_ENABLE (1u << 15)
#define PCI_MSIX_BIR_MASK   0x7u

/* MSI-X table entry, 16 bytes */
#define PCI_MSIX_ENTRY_SIZE     16
#define PCI_MSIX_ENTRY_ADDR_LO  0x0
#define PCI_MSIX_ENTRY_ADDR_HI  0x4
#define PCI_MSIX_ENTRY_DATA     0x8
#define PCI_MSIX_ENTRY_CTRL     0xc
#define PCI_MSIX_ENTRY_MASKED   (1u << 0)

#endif
