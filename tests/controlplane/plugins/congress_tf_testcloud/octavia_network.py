"""Octavia's no-op network driver, except that the VIP port really exists in Neutron.

The stock no-op driver invents a VIP port ID that Neutron does not know; Terraform's provider then
fails reading `vip_port_id`. Everything about amphorae stays a no-op.
"""

from octavia.common import clients, data_models
from octavia.network.drivers.noop_driver.driver import NoopNetworkDriver


class NeutronVipPortDriver(NoopNetworkDriver):
    @staticmethod
    def _neutron():
        return clients.NeutronAuth.get_neutron_client()

    def allocate_vip(self, loadbalancer):
        vip = loadbalancer.vip
        neutron = self._neutron()
        if vip.port_id:
            port = neutron.get_port(vip.port_id)
        else:
            network_id = vip.network_id or neutron.get_subnet(vip.subnet_id).network_id
            fixed_ip = {"subnet_id": vip.subnet_id} if vip.subnet_id else {}
            if vip.ip_address:
                fixed_ip["ip_address"] = vip.ip_address
            port = neutron.create_port(network_id=network_id, name=f"octavia-lb-{loadbalancer.id}",
                                       device_owner="Octavia", device_id=f"lb-{loadbalancer.id}",
                                       project_id=loadbalancer.project_id, admin_state_up=False,
                                       fixed_ips=[fixed_ip] if fixed_ip else [])
        first = port.fixed_ips[0]
        return data_models.Vip(ip_address=first["ip_address"], subnet_id=first["subnet_id"],
                               network_id=port.network_id, port_id=port.id,
                               load_balancer_id=loadbalancer.id), []

    def deallocate_vip(self, vip):
        if vip.port_id:
            self._neutron().delete_port(vip.port_id, ignore_missing=True)
