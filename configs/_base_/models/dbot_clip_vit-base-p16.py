# dBOT data-richer recipe (⌘, paper Sec. 6.2 / Tab. A1 col. 3, official
# `beit` branch): BEiT-style ViT-B/16 student (no asymmetric decoder, mask
# token in the encoder, shared relative position bias, no absolute pos-embed,
# layer scale 0.1, drop path 0.1) distilling the frozen OpenAI CLIP ViT-B/16
# image tower (all tokens through ln_post and @proj -> 512-d, cls dropped)
# with 1 - mean cosine similarity over the masked patches.
#
# The CLIP weights are a LOCAL plain state dict with OpenAI key names,
# converted once from OpenAI's TorchScript `ViT-B-16.pt` (docs/dbot_clip.md):
#   python -c "import torch; torch.save(torch.jit.load('ViT-B-16.pt',
#     map_location='cpu').state_dict(), 'checkpoints/clip_vit-b16_openai.pth')"
model = dict(
    type='DBOTCLIP',
    backbone=dict(
        type='MKDBEiTViT',
        arch='base',
        img_size=224,
        patch_size=16,
        drop_path_rate=0.1,
        use_abs_pos_emb=False,
        use_rel_pos_bias=False,
        use_shared_rel_pos_bias=True,
        layer_scale_init_value=0.1,
        init_std=0.02),
    head=dict(type='MIMHead', loss=dict(type='NegativeCosineLoss', eps=1e-6)),
    teacher=dict(
        type='CLIPTeacher',
        arch='b16',
        img_size=224,
        post_norm=True,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/clip_vit-b16_openai.pth')),
    # OpenAI's CLIP weights are fp16 and the official teacher runs in fp16
    # under autocast on GPU; 'fp32' for exact CPU runs
    teacher_precision='fp16')
